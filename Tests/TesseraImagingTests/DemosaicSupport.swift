import Foundation
import TesseraCore
import TesseraImaging

/// A noiseless synthetic shoot (no read noise, a practically infinite full well) and the
/// demosaic quality measurement on it: linear, white-balanced camera RGB vs the truth mapped
/// into the same space, border cropped, per-channel gain fit.
struct NoiselessShoot {
    let options: SynthOptions
    let manifest: SynthManifest
    let truth: RGBImageF
    let plane: RawPlane
    /// Truth in white-balanced camera RGB (a neutral white is 1 in every channel).
    let reference: RGBImageF
    let settings: DevelopSettings

    init(width: Int, height: Int, cfa: CFAPattern, seed: UInt64 = 7) throws {
        var o = SynthOptions(frames: 1, width: width, height: height, iso: 100, seed: seed, pattern: cfa, margin: 0)
        o.readNoiseElectrons = 0
        o.fullWellISO100 = 1e13
        o.threads = 2
        options = o
        manifest = try ShootSynthesizer.plan(o)
        let frame = manifest.frames[0]
        truth = ShootSynthesizer.renderTruth(frame, options: o)
        plane = ShootSynthesizer.mosaic(truth, frame: frame, options: o)
        let neutral = frame.asShotNeutral
        reference = DemosaicQuality.cameraReference(truth, cameraFromLinearSRGB: SynthCamera.standard.cameraFromLinearSRGB, neutral: neutral)
        settings = DevelopSettings(
            cfa: cfa, blackLevels: frame.blackLevels, whiteLevel: Double(frame.whiteLevel),
            wbMultipliers: neutral.map { neutral[1] / $0 }, cameraToOutput: Matrix3.identity.m, exposureGain: 1,
            demosaic: .mhc, transfer: .linear)
    }

    /// The named scene region as integer frame pixels, shrunk by `inset`.
    func region(_ name: String, inset: Int = 0) -> PixelRect {
        let r = manifest.scene.regions.first { $0.name == name }!
        let x0 = Int(r.x.rounded(.up)) + inset, y0 = Int(r.y.rounded(.up)) + inset
        let x1 = Int((r.x + r.width).rounded(.down)) - inset, y1 = Int((r.y + r.height).rounded(.down)) - inset
        return PixelRect(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0))
    }

    /// Linear, white-balanced camera RGB of the whole frame developed with `method`.
    func develop(_ method: DemosaicMethod) throws -> RGBImageF {
        var s = settings
        s.demosaic = method
        let pipeline = try DevelopPipeline(settings: s, frame: FrameSize(width: plane.width, height: plane.height), stages: [])
        let core = PixelRect(x: 0, y: 0, width: plane.width, height: plane.height)
        let window = pipeline.cfaWindow(forOutput: core)
        return try pipeline.developLinear(Developer.window(window, of: plane), inputRect: window, core: core)
    }
}
