import Hummingbird
import NIOCore
import NIOHTTP1

/// The request body as a stream of chunks, where any failure to receive (the client went
/// away, the connection broke) surfaces as `ClientDisconnected`, so it is reported as the
/// client's doing rather than as a server error.
struct RequestBodyStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: RequestBody
    let metrics: RegistryMetrics?

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        let metrics: RegistryMetrics?

        mutating func next() async throws -> ByteBuffer? {
            do {
                let chunk = try await base.next()
                if let chunk { metrics?.received(chunk.readableBytes) }
                return chunk
            } catch let error as HTTPParserError {
                // The connection closed before the body was complete: the client went away,
                // it did not send a malformed body.
                if case .invalidEOFState = error { throw ClientDisconnected(underlying: "the connection closed before the body ended") }
                throw MalformedRequestBody(reason: String(describing: error))
            } catch {
                throw ClientDisconnected(underlying: String(describing: error))
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: body.makeAsyncIterator(), metrics: metrics) }
}

struct ClientDisconnected: Error {
    var underlying: String
}

/// The body could not be parsed (bad chunked encoding): the client's error, a 400. What
/// arrived before it is kept, so the upload can be resumed from its reported offset.
struct MalformedRequestBody: Error {
    var reason: String
}

extension Request {
    func bodyStream(_ metrics: RegistryMetrics?) -> RequestBodyStream { RequestBodyStream(body: body, metrics: metrics) }
}
