import Foundation

extension AuthGate {
    /// Keys files larger than this are refused rather than read.
    static let maxKeysFileBytes = 1 << 20

    /// The gate the configuration describes: keys from `auth.keys_file` and `auth.keys`
    /// together; off when both are empty. Every problem stops start-up with a `ConfigError`
    /// naming the key, the file and the line (never the key text).
    public init(_ settings: ServiceConfig.Auth) throws(ConfigError) {
        var keys: [APIKey] = []
        if !settings.keysFile.isEmpty {
            let location = "auth.keys_file \(settings.keysFile)"
            let text = try Self.readKeysFile(settings.keysFile, location: location)
            do {
                keys += try APIKeyParser.parseFile(text)
            } catch {
                throw ConfigError(location: "\(location): line \(error.entry)", message: error.message)
            }
            if keys.isEmpty {
                throw ConfigError(location: location, message: "the file holds no keys; authentication would refuse every request")
            }
        }
        if !settings.keys.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            let inline: [APIKey]
            do {
                inline = try APIKeyParser.parseList(settings.keys)
            } catch {
                throw ConfigError(location: "auth.keys: entry \(error.entry)", message: error.message)
            }
            if inline.isEmpty {
                throw ConfigError(location: "auth.keys", message: "holds no keys, only comments or separators")
            }
            for key in inline where keys.contains(where: { $0.secret == key.secret }) {
                throw ConfigError(location: "auth.keys", message: "\(key) is also in auth.keys_file; give each key once")
            }
            keys += inline
        }
        self.init(keys: keys, policy: settings.policy)
    }

    /// The file's text, after checking it is a regular file that other users cannot read or write
    /// (group read is allowed: a Kubernetes Secret mounted with `fsGroup` is group-readable).
    static func readKeysFile(_ path: String, location: String) throws(ConfigError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ConfigError(location: location, message: "cannot read the file (\(String(cString: strerror(errno))))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ConfigError(location: location, message: "not a regular file")
        }
        let mode = info.st_mode & 0o777
        if mode & 0o027 != 0 {
            throw ConfigError(location: location, message: "mode \(String(mode, radix: 8)) lets other users read or change the keys; "
                + "chmod 600 (or 640 / 440 for a group such as a Kubernetes fsGroup)")
        }
        guard Int(info.st_size) <= maxKeysFileBytes else {
            throw ConfigError(location: location, message: "the file is larger than \(maxKeysFileBytes) bytes")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(location: location, message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(location: location, message: "the file is not UTF-8 text")
        }
        return text
    }
}
