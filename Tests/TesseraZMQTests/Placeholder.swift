import Testing
import TesseraZMQ

@Test func TesseraZMQTestsBuilds() {}
