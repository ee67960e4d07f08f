import ArgumentParser

@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "A private container image registry.",
        version: BerthVersion.current,
        subcommands: [Serve.self, CheckConfig.self, AuthServer.self, UserCommand.self, ACLCommand.self, RobotCommand.self, PolicyCommand.self, AuditCommand.self, ImportCommand.self, HashPassword.self, Keys.self, AccessTokenCommand.self, Tokens.self, GarbageCollect.self, ListCommand.self, InspectCommand.self, RemoveCommand.self, Backup.self, Restore.self],
        defaultSubcommand: Serve.self)
}
