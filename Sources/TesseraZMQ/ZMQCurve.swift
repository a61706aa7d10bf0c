/// CURVE security helpers (libzmq built with libsodium; check `ZMQ.has("curve")`).
///
/// Keys are 32-byte Curve25519 keys, exchanged as 40-character Z85 strings. A server sets
/// `curveServer = true` and its `curveSecretKey`; a client sets its own `curvePublicKey` and
/// `curveSecretKey` plus the server's public key as `curveServerKey`, all before bind/connect.
public enum ZMQCurve {
    /// Generates a new long-term key pair (`zmq_curve_keypair`), each key 40 Z85 characters.
    /// Throws ``ZMQError/notSupported`` if libzmq was built without CURVE.
    public static func generateKeyPair() throws(ZMQError) -> (publicKey: String, secretKey: String) {
        try LibZMQ.curveKeyPair()
    }

    /// Derives the public key (40 Z85 characters) from a secret key (`zmq_curve_public`).
    /// Throws ``ZMQError/invalid`` for a malformed key.
    public static func publicKey(forSecretKey secretKey: String) throws(ZMQError) -> String {
        try LibZMQ.curvePublic(secretKey: secretKey)
    }

    /// Encodes bytes as Z85 (5 characters per 4 bytes). Throws ``ZMQError/invalid`` unless the
    /// count is a multiple of 4.
    public static func z85Encode(_ bytes: [UInt8]) throws(ZMQError) -> String {
        guard bytes.count % 4 == 0 else {
            throw ZMQError.invalid.with(
                operation: "zmq_z85_encode", detail: "\(bytes.count) bytes, must be a multiple of 4")
        }
        return try LibZMQ.z85Encode(bytes)
    }

    /// Decodes Z85 text (4 bytes per 5 characters). Throws ``ZMQError/invalid`` unless the
    /// length is a multiple of 5 and every character is in the Z85 alphabet.
    public static func z85Decode(_ text: String) throws(ZMQError) -> [UInt8] {
        try LibZMQ.z85Decode(text)
    }
}
