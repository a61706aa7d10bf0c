import TesseraZMQ
import XCTest

/// The one XCTest case of this target (keeps XCTest's summary meaningful; the rest is Swift Testing).
final class SmokeXCTests: XCTestCase {
    func testLinkedLibraryIsZeroMQ4WithCurve() {
        XCTAssertEqual(ZMQ.version.major, 4)
        XCTAssertTrue(ZMQ.has("curve"))
        XCTAssertFalse(ZMQ.has("no-such-capability"))
    }
}
