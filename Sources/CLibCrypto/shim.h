// OpenSSL's libcrypto (the system's, which libcurl's OpenSSL flavour uses too when it is loaded):
// the SDK's one crypto library. AES-256-GCM with a key schedule set up once and reused for every
// row (FieldCipher), key wrapping, HMAC-SHA256 key ids and random keys (WrappedKeyFile).
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static const int pg_evp_ctrl_aead_get_tag = EVP_CTRL_AEAD_GET_TAG;
static const int pg_evp_ctrl_aead_set_tag = EVP_CTRL_AEAD_SET_TAG;
