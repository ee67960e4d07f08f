import ArgumentParser
import Auth
import Config
import Foundation
import Hummingbird
import Logging
import Assembly

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the registry.")

    @Option(name: .shortAndLong, help: "A Distribution-style config.yml. Without one, Berth serves on :5000 and stores under ./data.")
    var config: String?

    @Argument(help: "The configuration file, as `registry serve FILE` takes it.")
    var configFile: String?

    @Flag(help: "Refuse to start when the configuration has keys Berth does not read (typos).")
    var strict = false

    @Option(help: ArgumentHelp("On the first start, write the admin's password to this new file (mode 0600) instead of printing it.",
                               discussion: "For services whose standard output is kept in a journal.", valueName: "PATH"))
    var adminPasswordFile: String?

    func run() async throws {
        var configuration: RegistryConfiguration
        do {
            configuration = try ConfigLoading.load(config ?? configFile)
        } catch {
            throw ValidationError("configuration error: \(error)")
        }
        configuration.firstRunPasswordFile = adminPasswordFile
        let logger = Logging.make(configuration)
        for warning in configuration.warnings { logger.warning("\(warning)") }
        if strict, !configuration.ignoredKeys.isEmpty {
            throw CLIFailure("--strict: the configuration has keys Berth does not read: \(configuration.ignoredKeys.joined(separator: "; "))")
        }
        do {
            try await ListenCheck.ensureAvailable(configuration, source: addressSource(configuration))
        } catch let error as ListenCheck.Unavailable {
            throw CLIFailure(error.description)
        }
        let app = try await BerthServer.makeApplication(configuration, logger: logger) { channel in
            logger.info("listening", metadata: ["address": .string(channel.localAddress?.description ?? "?")])
        }
        try await app.runService()
    }

    /// Where `http.addr` came from, for messages about it.
    func addressSource(_ configuration: RegistryConfiguration) -> String {
        if ProcessInfo.processInfo.environment["REGISTRY_HTTP_ADDR"] != nil { return "REGISTRY_HTTP_ADDR" }
        if let file = config ?? configFile { return "http.addr in \(file)" }
        return "the default, :5000; give another with REGISTRY_HTTP_ADDR or http.addr"
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and print the effective configuration (secrets masked).")

    @Argument(help: "The configuration file.")
    var file: String

    @Flag(help: "Exit non-zero when the configuration has keys Berth does not read (typos).")
    var strict = false

    func run() throws {
        let configuration: RegistryConfiguration
        do {
            configuration = try ConfigLoading.load(file)
        } catch {
            var stderr = StandardError()
            print("invalid configuration: \(error)", to: &stderr)
            throw ExitCode(1)
        }
        var stderr = StandardError()
        for warning in configuration.warnings { print("warning: \(warning)", to: &stderr) }
        // What the token server would refuse at start: the workload issuers, checked as serve checks them.
        if let yaml = configuration.tokenAuth?.workloadYAML {
            do {
                _ = try WorkloadIssuer.parseList(yaml: yaml, key: "auth.token.workload_auth")
            } catch {
                print("invalid configuration: \(error)", to: &stderr)
                throw ExitCode(1)
            }
        }
        if let sections = configuration.tokenAuth?.signInYAML, !sections.isEmpty {
            do {
                try AuthAssembly.validateSignInProviders(sections: sections)
            } catch {
                print("invalid configuration: \(error)", to: &stderr)
                throw ExitCode(1)
            }
        }
        let limits = FailedLoginLimiter.Limits()
        print(configuration.effectiveYAML(failedLoginDefaults: [
            "perclient": String(limits.perClient), "peraddress": String(limits.perAddress),
            "peraccount": String(limits.perAccount), "window": "\(limits.window.components.seconds)s",
        ]), terminator: "")
        if strict, !configuration.ignoredKeys.isEmpty {
            print("--strict: \(configuration.ignoredKeys.count) key(s) Berth does not read", to: &stderr)
            throw ExitCode(1)
        }
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
