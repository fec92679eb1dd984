"""Reading and writing files: manifests, meshes, markups, the built-in scene."""
