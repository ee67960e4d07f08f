import OCI
import Testing

@Suite struct RangeTests {
    @Test func contentRangesOfUploadChunks() {
        #expect(ContentRange("0-99") == ContentRange("bytes=0-99"))
        #expect(ContentRange("bytes 10-19")?.length == 10)
        for bad in ["", "5-2", "-1-3", "a-b", "1-2-3", "0-"] { #expect(ContentRange(bad) == nil, "\(bad)") }
        // The length of 0-Int64.max does not fit an Int64: refused, not an overflow trap.
        #expect(ContentRange("0-9223372036854775807") == nil)
        #expect(ContentRange("9223372036854775806-9223372036854775806")?.length == 1)
    }

    @Test func rangeHeadersAgainstSizes() {
        #expect(ByteRange(header: "bytes=0-99", size: 50) == .partial(0..<50))
        #expect(ByteRange(header: "bytes=-10", size: 50) == .partial(40..<50))
        #expect(ByteRange(header: "bytes=50-", size: 50) == .unsatisfiable)
        #expect(ByteRange(header: "bytes=0-1,4-5", size: 50) == .full)
        #expect(ByteRange(header: "bytes=500-0", size: 5000) == .unsatisfiable)
        #expect(ByteRange(header: "bytes=a-0", size: 5000) == .full)
        #expect(ByteRange(header: "bytes=0-9223372036854775807", size: Int64.max) == .partial(0..<Int64.max))
        #expect(ByteRange(header: nil, size: 5) == .full)
    }
}
