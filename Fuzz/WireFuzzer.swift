// libFuzzer target for the Tessera wire decoder (protos/PROTOCOL.md).
//
// Built by scripts/fuzz-wire.sh together with the TesseraWire sources (one module, so internal
// helpers are reachable) against a TesseraCore built with the same instrumentation. Not part of
// the SwiftPM build: `swift build` never sees this directory.
//
// Properties checked for every input:
//  1. `WireCodec.decode` returns or throws a `WireError`; it never traps, hangs or over-reads
//     (AddressSanitizer is on in the script's build).
//  2. A decoded message is canonical: re-encoding it gives back exactly the input bytes, and
//     `encodedLength` predicts the size.
//  3. A decoded message passes `validate` with the same limits (the decoder accepts nothing a
//     sender would refuse to send).
//  4. Payload verification of arbitrary frames against decoded descriptors only throws.

@_cdecl("LLVMFuzzerTestOneInput")
public func wireFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeRawBufferPointer(start: data, count: size)
    let message: WireMessage
    do {
        message = try WireCodec.decode(buffer)
    } catch {
        _ = error.wireStatus
        _ = "\(error)"
        return 0
    }
    let bytes = Array(buffer)
    let encoded = WireCodec.encode(message)
    if encoded != bytes {
        fatalError("non-canonical decode: \(bytes.count) bytes decoded to \(message.name), re-encoded to \(encoded.count) bytes")
    }
    if WireCodec.encodedLength(message) != bytes.count {
        fatalError("encodedLength disagrees for \(message.name)")
    }
    do {
        try WireCodec.validate(message)
    } catch {
        fatalError("decoded \(message.name) fails validate: \(error)")
    }
    let descriptors = message.payloads
    if !descriptors.isEmpty {
        // Frames cut from the input itself: verification must reject or accept, never trap.
        let frames = descriptors.indices.map { index in Array(bytes.prefix(index * 7 % (bytes.count + 1))) }
        _ = try? WireCodec.verifyPayloads(frames, against: descriptors)
    }
    return 0
}
