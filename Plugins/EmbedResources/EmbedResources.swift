import Foundation
import PackagePlugin

/// Embeds the package's `Ontology/`, `Templates/` and `Models/` folders into the target's code,
/// so that a built binary carries its defaults and works outside the checkout.
@main
struct EmbedResources: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL
        let folders = ["Ontology", "Templates", "Models"]
        var inputs: [URL] = []
        let fm = FileManager.default
        for folder in folders {
            let dir = root.appending(path: folder)
            guard let walker = fm.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else { continue }
            for case let url as URL in walker {
                let isFile = (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile ?? false
                if isFile && !url.lastPathComponent.hasPrefix(".") { inputs.append(url) }
            }
        }
        inputs.sort { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) resource files",
                executable: try context.tool(named: "kmerl-embed").url,
                arguments: [output.path, root.path] + folders,
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
