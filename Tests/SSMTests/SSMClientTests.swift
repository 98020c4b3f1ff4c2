import AWSCore
import Foundation
import KilnTestSupport
import SSM
import Testing

@Suite(.moto)
struct SSMClientTests {
    let ssm: SSMClient

    init() throws {
        ssm = try SSMClient(config: MotoScope.config())
    }

    @Test func putThenGetAnAMIParameter() throws {
        let name = "/\(unique("kiln"))/stats/ami-id"
        let version = try ssm.putParameter(PutParameterRequest(
            name: name, value: "ami-0123456789abcdef0", dataType: .ec2Image, description: "stats AMI",
            tags: [Tag(key: "kiln:recipe", value: "stats")]))
        #expect(version == 1)

        let parameter = try ssm.getParameter(name: name)
        #expect(parameter.name == name)
        #expect(parameter.value == "ami-0123456789abcdef0")
        #expect(parameter.type == .string)
        #expect(parameter.dataType == .ec2Image)
        #expect(parameter.version == 1)
        #expect(parameter.arn?.hasSuffix("parameter\(name)") == true)
        let modified = try #require(parameter.lastModifiedDate)
        #expect(abs(modified.timeIntervalSinceNow) < 300, "LastModifiedDate is read as seconds since 1970")
    }

    @Test func overwriteMakesANewVersionAndDropsTags() throws {
        let name = "/\(unique("kiln"))/latest"
        try ssm.putParameter(PutParameterRequest(name: name, value: "one", tags: [Tag(key: "a", value: "b")]))
        // AWS refuses Tags together with Overwrite; the client leaves them out.
        let version = try ssm.putParameter(PutParameterRequest(name: name, value: "two", overwrite: true,
                                                               tags: [Tag(key: "a", value: "c")]))
        #expect(version == 2)
        let parameter = try ssm.getParameter(name: name)
        #expect(parameter.value == "two")
        #expect(parameter.version == 2)
    }

    @Test func putWithoutOverwriteFailsWhenTheParameterExists() throws {
        let name = "/\(unique("kiln"))/once"
        try ssm.putParameter(PutParameterRequest(name: name, value: "one"))
        let error = try #require(throws: AWSError.self) {
            try ssm.putParameter(PutParameterRequest(name: name, value: "two"))
        }
        #expect(error.code == "ParameterAlreadyExists")
        #expect(error.operation == "PutParameter")
    }

    @Test func missingParameterIsATypedAWSError() throws {
        let error = try #require(throws: AWSError.self) {
            try ssm.getParameter(name: "/\(unique("kiln"))/missing")
        }
        #expect(error.code == "ParameterNotFound")
        #expect(error.operation == "GetParameter")
        #expect(error.service == "ssm")
        #expect(error.status == 400)
    }

    @Test func getParametersSplitsFoundAndInvalid() throws {
        let root = "/\(unique("kiln"))"
        try ssm.putParameter(PutParameterRequest(name: "\(root)/a", value: "1"))
        try ssm.putParameter(PutParameterRequest(name: "\(root)/b", value: "2"))
        let result = try ssm.getParameters(names: ["\(root)/a", "\(root)/b", "\(root)/nope"])
        #expect(result.parameters.map(\.name).sorted() == ["\(root)/a", "\(root)/b"])
        #expect(result.parameters.map(\.value).sorted() == ["1", "2"])
        #expect(result.invalidParameters == ["\(root)/nope"])
    }

    @Test func getParametersByPathFollowsNextToken() throws {
        let root = "/\(unique("kiln"))/images"
        // 23 parameters: three pages of at most 10, plus one level deeper for Recursive.
        for index in 0..<20 {
            try ssm.putParameter(PutParameterRequest(name: "\(root)/r\(index)", value: "ami-\(index)", dataType: .ec2Image))
        }
        for index in 0..<3 {
            try ssm.putParameter(PutParameterRequest(name: "\(root)/deeper/r\(index)", value: "v\(index)"))
        }

        let shallow = try ssm.getParametersByPath(root)
        #expect(shallow.count == 20)
        #expect(Set(shallow.map(\.name)) == Set((0..<20).map { "\(root)/r\($0)" }))
        #expect(shallow.allSatisfy { $0.dataType == .ec2Image })
        #expect(shallow.first { $0.name == "\(root)/r7" }?.value == "ami-7")

        let all = try ssm.getParametersByPath(root, recursive: true)
        #expect(all.count == 23)
        #expect(all.contains { $0.name == "\(root)/deeper/r2" && $0.value == "v2" })
        #expect(try ssm.getParametersByPath("/\(unique("kiln"))/nothing").isEmpty)
    }

    @Test func secureStringValuesStayOutOfDescriptions() throws {
        let name = "/\(unique("kiln"))/secret"
        let secret = "hunter2-\(UUID().uuidString)"
        let request = PutParameterRequest(name: name, value: secret, type: .secureString)
        #expect(!String(describing: request).contains(secret))
        try ssm.putParameter(request)

        let parameter = try ssm.getParameter(name: name, withDecryption: true)
        #expect(parameter.value == secret)
        #expect(parameter.type == .secureString)
        #expect(!parameter.description.contains(secret))
        var dumped = ""
        dump(parameter, to: &dumped)
        #expect(!dumped.contains(secret))
    }
}
