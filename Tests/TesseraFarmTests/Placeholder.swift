import Testing
import TesseraCLI

@Test func TesseraFarmTestsBuilds() {}
