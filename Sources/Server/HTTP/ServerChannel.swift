import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

package enum ServerChannel {
    /// HTTP/1.1 with `Expect: 100-continue` answered, over TLS when a certificate and key
    /// are given (PEM files).
    package static func make(certificate: String?, key: String?, limits: ConnectionLimits = ConnectionLimits()) throws -> HTTPServerBuilder {
        let counter = ConnectionCounter()
        let http1 = HTTPServerBuilder.http1(configuration: .init(
            additionalChannelHandlers: [ConnectionCloseHandler.Installer(limits: limits, counter: counter), Expect100ContinueHandler()],
            idleTimeout: .seconds(300)))
        guard let certificate, let key else { return http1 }
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        return try .tls(http1, tlsConfiguration: TLSConfiguration.makeServerConfiguration(
            certificateChain: chain, privateKey: .privateKey(privateKey)))
    }
}
