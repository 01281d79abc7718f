#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <kahan.h>

static PyObject *ksum(PyObject *self, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "ksum() takes a sequence of numbers");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    double *values = PyMem_Malloc((n ? n : 1) * sizeof(double));
    if (values == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        values[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
        if (values[i] == -1.0 && PyErr_Occurred()) {
            PyMem_Free(values);
            Py_DECREF(seq);
            return NULL;
        }
    }
    double result = kahan_sum(values, (size_t)n);
    PyMem_Free(values);
    Py_DECREF(seq);
    return PyFloat_FromDouble(result);
}

static PyObject *library_version(PyObject *self, PyObject *unused)
{
    return PyUnicode_FromString(kahan_version());
}

static PyMethodDef methods[] = {
    {"ksum", ksum, METH_O, "Compensated sum of a sequence of numbers."},
    {"library_version", library_version, METH_NOARGS, "Version of the linked libkahan."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "kahan._core", NULL, -1, methods};

PyMODINIT_FUNC PyInit__core(void)
{
    return PyModule_Create(&module);
}
