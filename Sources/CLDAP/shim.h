// OpenLDAP's client library (Debian: libldap-dev). The few calls whose arguments are
// macros Swift cannot import (LDAP_SASL_SIMPLE, LDAP_SCOPE_SUBTREE) are wrapped here.
#ifndef BERTH_CLDAP_SHIM_H
#define BERTH_CLDAP_SHIM_H

#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static inline int berth_ldap_simple_bind(LDAP *ld, const char *dn, const char *password, size_t length) {
    struct berval credentials;
    credentials.bv_val = (char *)password;
    credentials.bv_len = (ber_len_t)length;
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &credentials, NULL, NULL, NULL);
}

static inline int berth_ldap_search_subtree(LDAP *ld, const char *base, const char *filter, char **attributes,
                                            int seconds, int sizeLimit, LDAPMessage **result) {
    struct timeval timeout;
    timeout.tv_sec = seconds;
    timeout.tv_usec = 0;
    return ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, attributes, 0, NULL, NULL,
                             &timeout, sizeLimit, result);
}

static inline int berth_ldap_set_timeouts(LDAP *ld, int seconds) {
    struct timeval timeout;
    timeout.tv_sec = seconds;
    timeout.tv_usec = 0;
    int rc = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &timeout);
    if (rc != LDAP_OPT_SUCCESS) return rc;
    return ldap_set_option(ld, LDAP_OPT_TIMEOUT, &timeout);
}

static inline int berth_ldap_set_int(LDAP *ld, int option, int value) {
    return ldap_set_option(ld, option, &value);
}

static inline int berth_ldap_set_string(LDAP *ld, int option, const char *value) {
    return ldap_set_option(ld, option, value);
}

static inline const char *berth_ldap_diagnostic(LDAP *ld) {
    char *message = NULL;
    if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &message) != LDAP_OPT_SUCCESS) return NULL;
    return message;
}

static inline int berth_ldap_referrals_off(LDAP *ld) {
    return ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
}

#endif
