import Config
import Foundation
import NIOCore
import NIOPosix

/// Whether the listen address can be bound, asked before anything is created: a port in use
/// must stop `berth serve` with the address and where it came from, not after the first-run
/// admin was created and its one-time password printed to a start that then failed.
public enum ListenCheck {
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// `source`: what set the address (an environment variable, a config key, the default).
    public static func ensureAvailable(_ config: RegistryConfiguration, source: String) async throws {
        let (host, port) = try config.listenAddress()
        guard port != 0 else { return }
        do {
            // SO_REUSEADDR as the server itself binds: a port left in TIME_WAIT by a previous
            // run is available, one with a listener is not.
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try await channel.close()
        } catch {
            let reason = "\(error)".contains("in use") || "\(error)".contains("EADDRINUSE") ? "the address is already in use (another Berth or registry?)" : "\(error)"
            throw Unavailable(description: "cannot listen on \(host):\(port) (set by \(source)): \(reason); nothing was created")
        }
    }
}
