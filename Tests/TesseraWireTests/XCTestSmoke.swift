import TesseraWire
import XCTest

/// The one XCTest case of this target (so XCTest's summary is not "Executed 0 tests").
final class WireXCTestSmoke: XCTestCase {
    func testHeartbeatRoundTrip() throws {
        let bytes = WireCodec.encode(.heartbeat)
        XCTAssertEqual(bytes, [0x54, 0x53, 0x03, 0x05])
        XCTAssertEqual(try WireCodec.decode(bytes), .heartbeat)
    }
}
