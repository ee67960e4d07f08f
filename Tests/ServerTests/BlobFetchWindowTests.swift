@testable import Mirror
import NIOCore
import Testing

/// A reader at the head of a fetch takes the bytes from memory; one that fell further behind
/// than the window is sent back to the storage.
@Suite struct BlobFetchWindowTests {
    func chunk(_ value: UInt8, _ count: Int) -> ByteBuffer { ByteBuffer(bytes: [UInt8](repeating: value, count: count)) }

    @Test func recentBytesComeFromMemoryWithinTheWindow() async throws {
        let fetch = BlobFetch(spool: nil)
        let size = 1 << 20
        for index in 0..<8 { await fetch.received(chunk(UInt8(index), size), at: Int64(index * size)) }
        #expect(await fetch.received == Int64(8 * size))
        // 4 MiB are held: chunks 4...7 (the oldest is dropped once the rest fill the window).
        #expect(await fetch.recent(Int64(3 * size)..<Int64(4 * size)) == nil)
        let slices = try #require(await fetch.recent(Int64(4 * size + 10)..<Int64(6 * size + 5)))
        #expect(slices.map(\.readableBytes) == [size - 10, size, 5])
        #expect(slices.map { $0.getInteger(at: $0.readerIndex, as: UInt8.self) } == [4, 5, 6])
        // Nothing past what was received.
        #expect(await fetch.recent(Int64(7 * size)..<Int64(8 * size + 1)) == nil)
        await fetch.finish(.stored(size: Int64(8 * size)))
        #expect(await fetch.recent(Int64(7 * size)..<Int64(8 * size)) == nil, "a finished fetch lets its memory go")
    }
}
