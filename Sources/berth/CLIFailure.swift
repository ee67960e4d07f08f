/// An error the CLI reports as one line, without the usage text a ValidationError adds.
struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
