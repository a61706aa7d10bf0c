import Foundation
import TesseraStore

/// Finds the RAW frames of a capture directory.
public enum CaptureScanner {
    /// File extensions treated as camera RAW (case-insensitive). Anything else in the directory
    /// (sidecars, JPEG previews, notes) is ignored; a non-RAW file *named* like a RAW file is
    /// included and fails its decode with a reason.
    public static let rawExtensions: Set<String> = [
        "dng", "cr2", "cr3", "crw", "nef", "nrw", "arw", "srf", "sr2", "orf", "rw2", "raf", "pef", "srw",
        "raw", "rwl", "3fr", "fff", "iiq", "erf", "mos", "mef", "mrw", "kdc", "dcr", "x3f",
    ]

    /// The frames of `directory` (not recursive), sorted by file name. Output stems are the
    /// input's name without its extension; if two inputs share a stem (IMG_1.CR2 and IMG_1.DNG)
    /// each keeps its extension in the stem (IMG_1-CR2, IMG_1-DNG) so no output is overwritten.
    public static func scan(_ directory: String) throws(CoordinatorError) -> [NewFrame] {
        let url = URL(fileURLWithPath: directory, isDirectory: true)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: url.path)
        } catch {
            throw .captureDirectoryUnreadable(path: directory, reason: error.localizedDescription)
        }
        var candidates: [(name: String, stem: String, ext: String)] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let ext = (name as NSString).pathExtension
            guard rawExtensions.contains(ext.lowercased()) else { continue }
            var isDirectory: ObjCBool = false
            let path = url.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            candidates.append((name, (name as NSString).deletingPathExtension, ext))
        }
        var stemCounts: [String: Int] = [:]
        for c in candidates { stemCounts[c.stem.lowercased(), default: 0] += 1 }
        return candidates.map { c in
            let path = url.appendingPathComponent(c.name).path
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
            let stem = stemCounts[c.stem.lowercased()]! > 1 ? "\(c.stem)-\(c.ext.uppercased())" : c.stem
            return NewFrame(path: path, stem: stem, byteCount: size)
        }
    }
}
