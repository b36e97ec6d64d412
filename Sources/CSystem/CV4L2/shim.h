#include <linux/videodev2.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
