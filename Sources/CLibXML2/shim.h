#ifndef KMERL_CLIBXML2_SHIM_H
#define KMERL_CLIBXML2_SHIM_H
/* libxml2's encoding.h pulls in the system ICU headers when LIBXML_ICU_ENABLED is set, which clash
   with Foundation's bundled ICU (_FoundationICU) in any module importing both. kmerl never touches
   the ICU converter fields (they sit at the end of xmlCharEncodingHandler), so hide them. */
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlerror.h>
#endif
