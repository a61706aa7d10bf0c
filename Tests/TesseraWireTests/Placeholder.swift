import Testing
import TesseraWire

@Test func TesseraWireTestsBuilds() {}
