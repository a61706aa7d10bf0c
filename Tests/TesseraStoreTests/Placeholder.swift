import Testing
import TesseraStore

@Test func TesseraStoreTestsBuilds() {}
