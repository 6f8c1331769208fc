#ifndef SHAPES_H
#define SHAPES_H

struct shape;

struct shape_class {
    const char *name;
    int nparams;
    double (*area)(const double *params);
    double (*perimeter)(const double *params);
};

const struct shape_class *shape_class_find(const char *name);
void shape_class_foreach(void (*fn)(const struct shape_class *, void *), void *arg);
const char *shapes_version(void);

#endif
