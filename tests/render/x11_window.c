/* tests/render/x11_window.c — does to an X11 window what a window manager would, for the
 * window target's test: `x11_window close TITLE` sends WM_DELETE_WINDOW (the close button:
 * nnxr must end its run), `x11_window resize TITLE W H` resizes it (nnxr must remake its
 * swapchain and go on). TITLE is a substring of the window's name. Exit 0 when the window was
 * found and asked, 1 otherwise. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>

static Window find(Display *d, Window w, const char *want)
{
    char *name = NULL;
    if (XFetchName(d, w, &name) && name) {
        int hit = strstr(name, want) != NULL;
        XFree(name);
        if (hit)
            return w;
    }
    Window root, parent, *kids = NULL;
    unsigned n = 0;
    if (!XQueryTree(d, w, &root, &parent, &kids, &n))
        return 0;
    Window found = 0;
    for (unsigned i = 0; i < n && !found; i++)
        found = find(d, kids[i], want);
    if (kids)
        XFree(kids);
    return found;
}

int main(int argc, char **argv)
{
    bool resize = argc == 5 && !strcmp(argv[1], "resize");
    if (!resize && !(argc == 3 && !strcmp(argv[1], "close"))) {
        fprintf(stderr, "usage: x11_window close TITLE | x11_window resize TITLE W H\n");
        return 2;
    }
    Display *d = XOpenDisplay(NULL);
    if (!d) {
        fprintf(stderr, "x11_window: cannot open the display\n");
        return 1;
    }
    Window w = find(d, DefaultRootWindow(d), argv[2]);
    if (!w) {
        fprintf(stderr, "x11_window: no window named like '%s'\n", argv[2]);
        XCloseDisplay(d);
        return 1;
    }
    if (resize) {
        XResizeWindow(d, w, (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
        XFlush(d);
        XCloseDisplay(d);
        printf("x11_window: resized window 0x%lx\n", (unsigned long)w);
        return 0;
    }
    XEvent ev;
    memset(&ev, 0, sizeof ev);
    ev.xclient.type = ClientMessage;
    ev.xclient.window = w;
    ev.xclient.message_type = XInternAtom(d, "WM_PROTOCOLS", False);
    ev.xclient.format = 32;
    ev.xclient.data.l[0] = (long)XInternAtom(d, "WM_DELETE_WINDOW", False);
    ev.xclient.data.l[1] = CurrentTime;
    XSendEvent(d, w, False, NoEventMask, &ev);
    XFlush(d);
    XCloseDisplay(d);
    printf("x11_window: asked window 0x%lx to close\n", (unsigned long)w);
    return 0;
}
