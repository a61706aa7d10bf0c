import Foundation
import Testing
import TesseraCore
import TesseraImaging

@Suite("Crop")
struct CropTests {
    @Test func rectCropCopiesThePixels() throws {
        let size = FrameSize(width: 10, height: 10)
        let stage = try CropStage(.rect(PixelRect(x: 2, y: 3, width: 5, height: 4)))
        #expect(stage.outputSize(for: size) == FrameSize(width: 5, height: 4))
        #expect(stage.inputRegion(for: PixelRect(x: 1, y: 1, width: 2, height: 2), inputSize: size) == PixelRect(x: 3, y: 4, width: 2, height: 2))
        let frame = PixelRect(x: 0, y: 0, width: 10, height: 10)
        let img = StageFixtures.image(frame) { x, y in (Float(x), Float(y), Float(x * y)) }
        let out = StageFixtures.whole(stage, world: img, worldRect: frame, inputSize: size)
        #expect(StageFixtures.pixel(out, 0, 0) == (2, 3, 6) && StageFixtures.pixel(out, 4, 3) == (6, 6, 36))
        #expect(throws: StageError.self) { try CropStage(.rect(PixelRect(x: 8, y: 0, width: 5, height: 5))).validate(for: size) }
        #expect(try CropStage(.rect(PixelRect(x: 8, y: 0, width: 5, height: 5))).outputSize(for: size) == FrameSize(width: 2, height: 5))
        #expect(StageFixtures.rejects("rect") { _ = try CropStage(.rect(PixelRect(x: 0, y: 0, width: 0, height: 3))) })
        #expect(StageFixtures.rejects("aspect.height") { _ = try CropStage(.aspect(width: 1, height: 0)) })
    }

    @Test func aspectCropIsCentred() throws {
        let size = FrameSize(width: 4000, height: 3000)
        #expect(try CropStage(.aspect(width: 1, height: 1)).cropRect(for: size) == PixelRect(x: 500, y: 0, width: 3000, height: 3000))
        #expect(try CropStage(.aspect(width: 16, height: 9)).cropRect(for: size) == PixelRect(x: 0, y: 375, width: 4000, height: 2250))
        #expect(try CropStage(.aspect(width: 4, height: 3)).cropRect(for: size) == PixelRect(x: 0, y: 0, width: 4000, height: 3000))
        #expect(try CropStage(.aspect(width: 2, height: 3)).cropRect(for: FrameSize(width: 7, height: 5)) == PixelRect(x: 2, y: 0, width: 3, height: 5))
        #expect(StageFixtures.tiledMismatches(try CropStage(.aspect(width: 3, height: 2)), inputSize: FrameSize(width: 31, height: 29), seed: 90) == 0)
        #expect(StageFixtures.tiledMismatches(try CropStage(.rect(PixelRect(x: 3, y: 1, width: 20, height: 9))), inputSize: FrameSize(width: 31, height: 29), seed: 91) == 0)
    }
}
