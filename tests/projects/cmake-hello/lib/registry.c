#include <string.h>

#include "config.h"
#include "shapes.h"

extern const struct shape_class shape_classes[];

const struct shape_class *shape_class_find(const char *name)
{
    for (const struct shape_class *c = shape_classes; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

void shape_class_foreach(void (*fn)(const struct shape_class *, void *), void *arg)
{
    for (const struct shape_class *c = shape_classes; c->name; c++)
        fn(c, arg);
}

const char *shapes_version(void)
{
    return PROJECT_VERSION;
}
