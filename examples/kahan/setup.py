from setuptools import Extension, setup

# libkahan is built and installed by shipwheel's before-all into its native prefix, which shipwheel puts on the
# compiler's search paths (CPATH, LIBRARY_PATH) and the loader's (LD_LIBRARY_PATH) for the build and the repair.
setup(ext_modules=[Extension("kahan._core", ["src/kahan/_core.c"], libraries=["kahan"])])
