import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// A response body read ahead of its consumer. AsyncHTTPClient's async body holds one part at
/// a time (its producer's watermarks are 1 and 1): the socket is read again only once the
/// consumer has taken the last part, so receiving and consuming alternate, each part costing
/// two thread wake-ups. A blob's consumer hashes what it takes; with this body the network
/// keeps delivering meanwhile, up to `readAheadParts` parts (about 4 MiB of 64 KiB reads).
enum ReadAheadBody {
    static let readAheadParts = 64

    typealias Producer = NIOThrowingAsyncSequenceProducer<ByteBuffer, any Error,
                                                           NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, Demand>

    /// What the delegate and the consumer's demand share, on the request's event loop.
    struct LoopState {
        /// The delegate's answer to the part that filled the buffer: completed once the
        /// consumer wants more, and the next part is read.
        var paused: EventLoopPromise<Void>?
        var task: HTTPClient.Task<Void>?
        var headArrived = false
        /// The consumer dropped the body: the request is cancelled.
        var terminated = false
    }

    struct Demand: NIOAsyncSequenceProducerDelegate {
        let state: NIOLoopBoundBox<LoopState>

        func produceMore() {
            let state = self.state
            state.eventLoop.execute {
                let paused = state.value.paused
                state.value.paused = nil
                paused?.succeed()
            }
        }

        func didTerminate() {
            let state = self.state
            state.eventLoop.execute {
                state.value.terminated = true
                state.value.task?.cancel()
                let paused = state.value.paused
                state.value.paused = nil
                paused?.succeed()
            }
        }
    }

    final class Delegate: HTTPClientResponseDelegate, Sendable {
        typealias Response = Void
        let state: NIOLoopBoundBox<LoopState>
        let head: EventLoopPromise<HTTPResponseHead>
        let source: Producer.Source

        init(state: NIOLoopBoundBox<LoopState>, source: Producer.Source) {
            self.state = state
            self.source = source
            self.head = state.eventLoop.makePromise()
        }

        func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
            state.value.task = task
            state.value.headArrived = true
            self.head.succeed(head)
            if state.value.terminated { task.cancel() }
            return state.eventLoop.makeSucceededVoidFuture()
        }

        func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
            switch source.yield(buffer) {
            case .produceMore:
                return state.eventLoop.makeSucceededVoidFuture()
            case .stopProducing:
                let paused = state.eventLoop.makePromise(of: Void.self)
                state.value.paused = paused
                return paused.futureResult
            case .dropped:
                task.cancel()
                return state.eventLoop.makeSucceededVoidFuture()
            }
        }

        func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
            if !state.value.headArrived { head.fail(error) }
            source.finish(error)
        }

        func didFinishRequest(task: HTTPClient.Task<Void>) throws {
            source.finish()
        }
    }
}

extension RegistryClient {
    /// `http.execute(request, timeout:)` with a body read ahead of its consumer; `timeout`
    /// bounds the wait for the response's head, as there (the client's read timeout bounds
    /// each wait for data after it).
    func executeReadingAhead(_ request: HTTPClientRequest, timeout: TimeAmount) async throws -> HTTPClientResponse {
        let plain = try HTTPClient.Request(url: request.url, method: request.method, headers: request.headers)
        let eventLoop = http.eventLoopGroup.any()
        let state = NIOLoopBoundBox.makeBoxSendingValue(ReadAheadBody.LoopState(), eventLoop: eventLoop)
        let body = ReadAheadBody.Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: ReadAheadBody.readAheadParts / 4, highWatermark: ReadAheadBody.readAheadParts),
            finishOnDeinit: true, delegate: ReadAheadBody.Demand(state: state))
        let delegate = ReadAheadBody.Delegate(state: state, source: body.source)
        let task = http.execute(request: plain, delegate: delegate, eventLoop: .delegate(on: eventLoop), deadline: nil)
        let timer = eventLoop.scheduleTask(in: timeout) { task.cancel() }
        defer { timer.cancel() }
        let head = try await withTaskCancellationHandler {
            try await delegate.head.futureResult.get()
        } onCancel: {
            task.cancel()
        }
        return HTTPClientResponse(version: head.version, status: head.status, headers: head.headers, body: .stream(body.sequence))
    }
}
