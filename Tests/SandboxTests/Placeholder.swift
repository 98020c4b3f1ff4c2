import Testing

@Test func SandboxPlaceholder() { #expect(Bool(true)) }
