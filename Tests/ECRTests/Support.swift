import AWSCore
import AWSCredentials
import Foundation
import KilnTestSupport
import SigV4
import Testing

