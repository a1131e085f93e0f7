// libcurl's headers: the types, options and constants PlusGuidanceNetworking uses. The library
// itself is not linked: CCurlLoader opens it the first time a request needs it.
#ifndef PLUSGUIDANCE_CCURL_SHIM_H
#define PLUSGUIDANCE_CCURL_SHIM_H

#include <curl/curl.h>

#endif
