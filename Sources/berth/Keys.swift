import ArgumentParser
import Foundation
import Server
import Storage

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Token signing keys.",
        subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the token signing certificate, for a registry's auth.token.rootcertbundle.")

        @Option(help: "The data directory of `berth serve` (its storage root).")
        var data = "./data"

        func run() async throws {
            let driver = try FilesystemDriver(rootDirectory: data)
            guard let pem = try? await driver.getContent(AuthSetup.signingCertificatePath, maxSize: 64 * 1024) else {
                throw ValidationError("no signing certificate under \(data): run `berth serve` once, or configure token.certificate")
            }
            FileHandle.standardOutput.write(Data(pem))
        }
    }
}
