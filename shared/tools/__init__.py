"""What is never deployed: the command-line tools and the development tooling.

``orders-dlq`` (:mod:`shared.tools.dlq`), ``orders-sync`` (:mod:`shared.tools.sync`),
the local stack, the deploy zips, the deploy requirements and the OpenAPI
document. The deploy rule leaves this whole folder out of both functions' zips.
Tools may import the runtime; the runtime never imports a tool.
"""
