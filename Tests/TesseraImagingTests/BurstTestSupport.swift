import Foundation
import TesseraCore
import TesseraImaging

/// A rendered synthetic burst: planes (active area, margin 0), truths and the plan.
struct SynthBurst {
    var options: SynthOptions
    var manifest: SynthManifest
    var frames: [SynthFrame]
    var planes: [RawPlane]
    var truth0: RGBImageF

    /// Renders burst 0 of a shoot with `size` frames.
    init(size: Int, width: Int, height: Int, iso: Int, maxShift: Double = 32, seed: UInt64 = 7) throws {
        var o = SynthOptions(frames: size, burstSize: size, width: width, height: height, iso: iso, seed: seed)
        o.maxShift = maxShift
        o.threads = 2
        options = o
        manifest = try ShootSynthesizer.plan(o)
        frames = manifest.frames
        var planes: [RawPlane] = []
        var t0: RGBImageF? = nil
        for f in frames {
            let truth = ShootSynthesizer.renderTruth(f, options: o)
            if t0 == nil { t0 = truth }
            planes.append(ShootSynthesizer.mosaic(truth, frame: f, options: o))
        }
        self.planes = planes
        truth0 = t0!
    }

    /// Linear develop settings that map the raw data back to the truth's scale.
    var linearSettings: DevelopSettings {
        let f = frames[0]
        let n = f.asShotNeutral
        let m = Matrix3(manifest.camera.cameraFromLinearSRGB).rowNormalized.inverse!
        return DevelopSettings(cfa: f.cfaPattern, blackLevels: f.blackLevels, whiteLevel: Double(f.whiteLevel),
                               wbMultipliers: [n[1] / n[0], 1, n[1] / n[2]], cameraToOutput: m.m,
                               exposureGain: 1 / f.exposureScale, transfer: .linear)
    }

    var settings: BurstSettings {
        let f = frames[0]
        return BurstSettings(blackLevels: f.blackLevels, whiteLevel: Double(f.whiteLevel), noise: NoiseModel(f.noise))
    }

    /// The truth of the reference, linear 16-bit.
    var truth16: RGBImage16 { ShootSynthesizer.encodeTruth(truth0, transfer: .linear) }

    /// The object's path in reference coordinates (each frame's box moved by its shift), grown by `grow`.
    func objectPath(grow: Int) -> [PixelRect] {
        frames.compactMap { f in
            guard let b = f.object?.box else { return nil }
            let x0 = Int((b.x + f.shift.dx).rounded(.down)) - grow, y0 = Int((b.y + f.shift.dy).rounded(.down)) - grow
            let x1 = Int((b.x + b.width + f.shift.dx).rounded(.up)) + grow, y1 = Int((b.y + b.height + f.shift.dy).rounded(.up)) + grow
            return PixelRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
        }
    }

    /// The reference frame's object box (clipped to the frame).
    var referenceObjectBox: PixelRect { frames[0].object!.pixelBox! }

    /// The scene's hard region (excluded from thresholds), grown by 2.
    var hardRegion: PixelRect {
        let r = manifest.scene.regions.first { $0.name == "hard" }!
        let x0 = Int(r.x.rounded(.down)) - 2, y0 = Int(r.y.rounded(.down)) - 2
        return PixelRect(x: x0, y: y0, width: Int((r.x + r.width).rounded(.up)) + 2 - x0, height: Int((r.y + r.height).rounded(.up)) + 2 - y0)
    }
}

enum BurstFixtures {
    /// The pixels of `rect` from `image`, as one row.
    static func crop(_ image: RGBImage16, _ r: PixelRect) -> RGBImage16 {
        var pixels: [UInt16] = []
        pixels.reserveCapacity(r.area * 3)
        for y in r.y..<r.maxY {
            let start = (y * image.width + r.x) * 3
            pixels += image.pixels[start..<(start + r.width * 3)]
        }
        return RGBImage16(width: r.width, height: r.height, pixels: pixels)
    }

    static func f2(_ v: Double) -> String { String(format: "%.2f", v) }
}
