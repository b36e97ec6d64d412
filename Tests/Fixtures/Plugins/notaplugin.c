/* A valid shared library that is not a camera-service plugin. */
int not_a_plugin(void) { return 42; }
