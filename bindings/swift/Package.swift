// swift-tools-version:5.9
// The Swift package of veilrank's client: run build-xcframework.sh (macOS, Xcode) first; it
// writes VeilrankFFI.xcframework and Sources/Veilrank/Veilrank.swift beside this file.
import PackageDescription

let package = Package(
    name: "Veilrank",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "Veilrank", targets: ["Veilrank"])],
    targets: [
        .binaryTarget(name: "VeilrankFFI", path: "VeilrankFFI.xcframework"),
        .target(name: "Veilrank", dependencies: ["VeilrankFFI"], path: "Sources/Veilrank"),
    ]
)
