"""The AWS layer: CodeArtifact's control plane, through botocore only.

``resolver`` turns targets into endpoints (token, repository URL) and makes the control-plane
calls; ``repository`` reads and acts on a whole repository (List*, GetPackageVersionAsset,
UpdatePackageVersionsStatus). botocore alone resolves credentials, endpoints and signatures.
"""
