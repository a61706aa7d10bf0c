import Testing
import TesseraImaging

@Test func TesseraImagingTestsBuilds() {}
