// The names the documentation's Swift snippets use without declaring them: what an app has of
// its own (its folders, what the user typed, its views). scripts/doc-test compiles every snippet
// of README.md and the DocC articles beside this file, inside an app that depends on the SDK.
import PlusGuidanceSync

// An app's own state.
let supportFolder = NSTemporaryDirectory() + "plusguidance-doc-test"
let email = "alice@example.com"
let password = "alice-pass"
let therapistID: UserID = "usr_therapist"
let aliceID: UserID = "usr_alice"
let serverURL = URL(string: "http://127.0.0.1:8080")!

// An app's views.
func render(_ messages: [Message]) {}
func showBadge(_ status: SyncStatus) {}
func setBadge(_ unread: Int) {}
func notify(_ message: Message) {}
func remind(_ session: Session) {}
func show(_ text: String) {}
func showQueued(_ reason: String) {}
func askToAttend(_ offer: SessionOffer) async -> Bool { true }

// The Domain's example values (README, "A taste of the Domain").
let clock: any WallClock = SystemWallClock()
let therapist = User(id: "usr_therapist", email: "therapist@example.com", name: "Theo", role: .therapist)
let alice = User(id: "usr_alice", email: "alice@example.com", name: "Alice", role: .client)
let relation = CareRelation(user: therapist, peer: alice.id)
