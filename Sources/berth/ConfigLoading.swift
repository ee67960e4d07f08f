import Config
import Foundation

enum ConfigLoading {
    /// Reads `path` (a Distribution-style config.yml) or, with none, Berth's embedded
    /// default; `REGISTRY_*` environment overrides apply in both cases.
    static func load(_ path: String?) throws -> RegistryConfiguration {
        let environment = ProcessInfo.processInfo.environment
        guard let path else { return try RegistryConfiguration.embeddedDefault(environment: environment) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read configuration file \(path)")
        }
        guard data.count <= 1 << 20 else { throw ConfigError("configuration file \(path) is larger than 1 MiB") }
        return try RegistryConfiguration(yaml: String(decoding: data, as: UTF8.self), environment: environment)
    }
}
