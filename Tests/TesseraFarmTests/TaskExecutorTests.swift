import Foundation
import Testing
import TesseraCore
import TesseraImaging
import TesseraWire
import TesseraWorker

/// The worker's task executor in process, on a real synthetic DNG.
@Suite struct TaskExecutorTests {
    /// The bytes of one synthetic DNG of `width` × `height` (`tessera synth`'s generator).
    static func syntheticDNG(width: Int, height: Int) throws -> [UInt8] {
        let tmp = try TemporaryDirectory("executor")
        var options = SynthOptions()
        options.frames = 1
        options.width = width
        options.height = height
        _ = try ShootSynthesizer.write(options, to: tmp.path, truthDirectory: nil)
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: tmp.sub("IMG_0001.dng"))))
    }

    @Test("a whole-frame task uses the stages the coordinator resolved: a LUT the worker cannot read still applies")
    func wholeFrameUsesResolvedStages() throws {
        let dng = try Self.syntheticDNG(width: 128, height: 96)

        // A LUT that inverts red, known to the coordinator only (the path does not exist here).
        var cube = "LUT_3D_SIZE 2\n"
        for b in 0..<2 { for g in 0..<2 { for r in 0..<2 { cube += "\(1 - r) \(g) \(b)\n" } } }
        var recipe = Recipe.neutral
        recipe.look = .cube(path: "/nonexistent/on/this/worker/invert-red.cube")
        let stages = [StageSpec.lut(cube: cube, source: "invert-red.cube")]
        let params = TaskContract.DecodeParameters(
            fileName: "IMG_0001.dng", maxPixels: 1 << 30,
            wholeFrame: TaskContract.WholeFrame(tileSize: 8192, recipe: recipe, format: .png, stages: stages))
        let output = try TaskExecutor.execute(kind: .decode, parameters: TaskContract.encode(params), payloads: [dng])
        let result = try TaskContract.decode(TaskContract.DecodeResult.self, from: output.metadata)
        #expect(result.developed)

        // The same frame without the LUT: the LUT must have changed the red channel.
        var plain = params
        plain.wholeFrame?.stages = []
        plain.wholeFrame?.recipe = .neutral
        let reference = try TaskExecutor.execute(kind: .decode, parameters: TaskContract.encode(plain), payloads: [dng])
        let a = try ImageReader.read(bytes: output.payloads[0].bytes, name: "lut.png")
        let b = try ImageReader.read(bytes: reference.payloads[0].bytes, name: "plain.png")
        #expect(a.width == b.width && a.height == b.height)
        #expect(a.pixels.enumerated().contains { $0.offset % 3 == 0 && $0.element != b.pixels[$0.offset] }, "red channel changed")
        for payload in output.payloads + reference.payloads {
            #expect(payload.descriptor == PayloadDescriptor(describing: payload.bytes))
        }
    }

    @Test("results come with their payloads described on the execution thread: a decoded plane, a burst member's plane and proxy")
    func resultPayloadsAreDescribed() throws {
        let dng = try Self.syntheticDNG(width: 160, height: 120)
        let decode = TaskContract.DecodeParameters(fileName: "IMG_0001.dng", maxPixels: 1 << 30)
        let plane = try TaskExecutor.execute(kind: .decode, parameters: TaskContract.encode(decode), payloads: [dng])
        let member = try TaskExecutor.execute(kind: .decode, parameters: TaskContract.encode(
            TaskContract.DecodeParameters(fileName: "IMG_0001.dng", maxPixels: 1 << 30, burstMember: true)), payloads: [dng])
        #expect(plane.payloads.count == 1 && member.payloads.count == 2)
        let cacheable = try #require(plane.cacheable)
        // The plane's wire bytes are its samples, little-endian.
        #expect(plane.payloads[0].bytes == cacheable.samples.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
        for payload in plane.payloads + member.payloads {
            #expect(payload.count > 0)
            #expect(payload.descriptor == PayloadDescriptor(describing: payload.bytes))
        }
    }
}
