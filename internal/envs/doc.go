// Package envs turns an Azure ML environment (a Docker image name and an
// optional conda file) into a Python a local step can run in.
//
// An environment with a conda file becomes an isolated virtualenv under
// Config.Dir, built once with uv (or python -m venv and pip when uv is
// absent) and shared by every job whose environment has the same content: the
// directory is named by the environment's content hash. Conda dependencies
// are translated to pip requirements on a best-effort basis, and the Python
// version the file asks for is matched to the nearest interpreter the machine
// already has; every approximation is reported in Env.Notes.
//
// An environment without a conda file (a curated or custom image only) runs on
// the host's python3: ciel does not pull or run images.
//
// This package is not a conda implementation: it never resolves packages
// itself, never installs conda-only (non-Python) packages such as cudatoolkit,
// and never downloads Python interpreters. It is not for containers either;
// an executor that runs images decides on its own what Spec.Image means.
package envs
