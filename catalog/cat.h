/*
 * cat.h: the catalogue domain: perks, redemptions and vouchers, status
 * passes. May call loyalty/ (ly.h); loyalty never calls it. Same rules as
 * ly.h: functions that write run in the caller's transaction and return
 * enum ly_res.
 */
#ifndef CAT_H
#define CAT_H

#include "loyalty/ly.h"

#endif /* CAT_H */
