import ArgumentParser
import Foundation

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Token signing keys.",
        subcommands: [Export.self])

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the token signing certificate, for a registry's auth.token.rootcertbundle.")

        @Option(help: "The data directory of `berth serve` (its storage root).")
        var data = "./data"

        func run() throws {
            let path = data + "/berth/token/certificate.pem"
            guard let pem = FileManager.default.contents(atPath: path) else {
                throw ValidationError("no signing certificate at \(path): run `berth serve` once, or configure token.certificate")
            }
            FileHandle.standardOutput.write(pem)
        }
    }
}
