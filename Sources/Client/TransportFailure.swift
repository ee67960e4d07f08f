import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// A failure below HTTP, said in words a user can act on ("nothing listens on
/// 127.0.0.1:5999") instead of the NIO or HTTP client error it came as.
public enum TransportFailure {
    public enum Kind: Sendable, Equatable {
        case refused, untrustedCertificate, tlsHandshake, closedWithoutAnswer, timedOut, unresolvable, other
    }

    static func kind(of error: any Error) -> Kind {
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return .refused }
        if let ssl = error as? NIOSSLError {
            if case .handshakeFailed = ssl {
                return "\(ssl)".contains("CERTIFICATE_VERIFY_FAILED") ? .untrustedCertificate : .tlsHandshake
            }
            if case .unableToValidateCertificate = ssl { return .untrustedCertificate }
        }
        if let client = error as? HTTPClientError {
            if client == .remoteConnectionClosed { return .closedWithoutAnswer }
            if client == .connectTimeout || client == .readTimeout || client == .deadlineExceeded { return .timedOut }
        }
        // Wrapped forms (a connection error listing its attempts) keep the words of the cause.
        let text = "\(error)"
        if text.contains("Connection refused") || text.contains("errno: \(ECONNREFUSED))") { return .refused }
        if text.contains("CERTIFICATE_VERIFY_FAILED") { return .untrustedCertificate }
        if text.contains("NXDOMAIN") || text.contains("Name or service not known") || text.contains("unknownHost")
            || text.contains("No address associated") { return .unresolvable }
        return .other
    }

    /// What went wrong reaching `host` over `scheme`.
    static func describe(_ error: any Error, host: String, scheme: String) -> String {
        switch kind(of: error) {
        case .refused:
            return "nothing listens on \(host) (connection refused)"
        case .untrustedCertificate:
            return "\(host) speaks TLS with a certificate this machine does not trust: give its CA with --ca-cert FILE, or --tls-verify=false"
        case .tlsHandshake:
            return "the TLS handshake with \(host) failed (\(error))"
        case .closedWithoutAnswer:
            return scheme == "http"
                ? "\(host) closed the connection without answering plain HTTP: does it speak TLS? use https://\(host)"
                : "\(host) closed the connection without answering"
        case .timedOut:
            return "\(host) did not answer in time"
        case .unresolvable:
            return "cannot resolve the host name of \(host)"
        case .other:
            return "cannot reach \(host): \(error)"
        }
    }
}
