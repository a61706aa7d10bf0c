import ArgumentParser
/// The `tessera` command tree.
public struct TesseraCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "tessera", abstract: "A distributed photo-processing farm.")
    public init() {}
}
