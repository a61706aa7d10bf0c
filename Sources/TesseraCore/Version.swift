/// The version every component reports (HELLO/WELCOME, recipe hashes, `tessera --version`).
public enum TesseraVersion {
    public static let string = "0.1.0"
}
