import Hummingbird
import NIOCore

/// The request body as a stream of chunks, where any failure to receive (the client went
/// away, the connection broke) surfaces as `ClientDisconnected`, so it is reported as the
/// client's doing rather than as a server error.
struct RequestBodyStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: RequestBody

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator

        mutating func next() async throws -> ByteBuffer? {
            do {
                return try await base.next()
            } catch {
                throw ClientDisconnected(underlying: String(describing: error))
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: body.makeAsyncIterator()) }
}

struct ClientDisconnected: Error {
    var underlying: String
}

extension Request {
    var bodyStream: RequestBodyStream { RequestBodyStream(body: body) }
}
