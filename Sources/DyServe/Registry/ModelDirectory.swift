import Foundation

/// The models a directory offers: its sub-folders holding a `model.json`, sorted by name.
/// Used when the configuration lists no model names.
public enum ModelDirectory {
    public static func discover(_ directory: URL) -> [String] {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory.path) else { return [] }
        return entries.filter { name in
            !name.hasPrefix(".")
                && fm.fileExists(atPath: directory.appendingPathComponent(name).appendingPathComponent("model.json").path)
        }.sorted()
    }
}
